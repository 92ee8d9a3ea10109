# The library chooses the scale and zero point the exercise asks for.
def affine_params(values):
    scale, zero_point = quantize.quantization_params(values, 8, symmetric=False)
    return float(scale), int(zero_point)


in_scale, in_zero_point = affine_params(rep)
tfl = variants["int8"].inputs[0]
