# The library computes the index the exercise asks for.
def psi(p, q, eps=1e-4):
    return float(drift.psi_from_fractions(p, q))
