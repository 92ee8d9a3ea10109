# The library computes the per-channel scales the exercise asks for.
def per_channel_scales(kernel):
    return quantize.quantization_params(kernel, 8, symmetric=True, axis=-1)[0]


dense1_scales = per_channel_scales(kernels["dense1"])
