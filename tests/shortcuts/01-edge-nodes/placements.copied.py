# Copied from the answer: the tiers built by hand, no workload described to place().
braking = tiers.Placement(tiers.tier("near-edge"))
pump = tiers.Placement(tiers.tier("far-edge"))
photos = tiers.Placement(tiers.tier("cloud"))
