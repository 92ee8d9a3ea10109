# Copied from the screen: the percentiles as the solution printed them (one decimal).
sim_p50 = 62.8
sim_p95 = 132.2
sim_p99 = 372.5
miss_100 = 0.122
print(f"by hand {total_ms:.1f} ms; simulated p50 {sim_p50:.1f}, p95 {sim_p95:.1f}, p99 {sim_p99:.1f} ms; "
      f"{miss_100:.1%} miss 100 ms")
