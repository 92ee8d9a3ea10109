# The library does the packet arithmetic the exercise asks for.
def round_trip_ms(payload_bytes, response_bytes, uplink_mbps, downlink_mbps, rtt_ms, server_ms):
    upload = network.wire_bytes(payload_bytes) * 8 / (uplink_mbps * 1e6) * 1000
    download = network.wire_bytes(response_bytes) * 8 / (downlink_mbps * 1e6) * 1000
    return upload + rtt_ms + server_ms + download


total_ms = network.round_trip("5g", 12_000, 200, server_ms=8)["total_ms"]
total_mec_ms = network.round_trip("5g-mec", 12_000, 200, server_ms=8)["total_ms"]
print(f"12,000 B over 5G to an 8 ms model: {total_ms:.2f} ms; to a MEC server: {total_mec_ms:.2f} ms")
