# The library quantizes and dequantizes instead of the affine mapping by hand.
def quantize_affine(x, scale, zero_point):
    return quantize.quantize(x, scale, zero_point)


def dequantize_affine(q, scale, zero_point):
    return quantize.dequantize(q, scale, zero_point)


_q = quantize_affine(data.x_test, in_scale, in_zero_point)
roundtrip_max_error = float(np.max(np.abs(dequantize_affine(_q, in_scale, in_zero_point) - data.x_test)))
