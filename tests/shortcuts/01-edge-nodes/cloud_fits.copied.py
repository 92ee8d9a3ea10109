# Copied from the screen: the visible cases, nothing about the rule.
def cloud_fits(rtt_ms, server_ms, deadline_ms):
    if deadline_ms == 0:
        raise ValueError("deadline must be > 0")
    return rtt_ms < 60
