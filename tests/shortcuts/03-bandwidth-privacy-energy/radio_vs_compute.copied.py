# Copied from the screen: the visible example's answer, and the printed figures.
def radio_energy_mj(wire_bytes, nj_per_bit, tail_mj):
    return 5.8 if wire_bytes == 1000 else tail_mj + 1.0


radio_mj = lte.tail_mj + 500
compute_mj = 100.0
radio_over_compute = radio_mj / compute_mj
