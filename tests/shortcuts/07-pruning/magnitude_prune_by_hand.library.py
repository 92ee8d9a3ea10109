# The library prunes instead of ranking the weights by hand.
def magnitude_prune(w, sparsity):
    return prune.magnitude_prune(np.asarray(w, dtype=np.float32), sparsity)


dense1_pruned = magnitude_prune(kernels["dense1"], 0.8)
