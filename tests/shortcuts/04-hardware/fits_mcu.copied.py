# Copied from the screen: the tiny model fits, MobileNet does not.
def fits_mcu(model):
    return model.weight_bytes < 3_000_000
