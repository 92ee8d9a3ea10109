# The library reads the C array back instead of parsing the hex by hand.
def c_bytes(text):
    return micro.c_array_bytes(text)


array_flash_bytes = model_c.size_bytes
