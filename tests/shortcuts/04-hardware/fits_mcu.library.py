# The library's fit check instead of comparing flash and RAM.
def fits_mcu(model):
    return devices.check_fit(mcu, model).fits
