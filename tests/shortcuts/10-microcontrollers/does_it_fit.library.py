# The library decides the fit instead of comparing flash and RAM.
def fits(budget, board):
    name = next(n for n, spec in BOARDS.items() if spec == board) if board in BOARDS.values() else None
    if name is None:
        return bool(budget["flash"] <= board["flash_bytes"] and budget["ram"] <= board["ram_bytes"])
    return micro.budget(budget["flash"], budget["ram"], name, 0, 0).fits


fitting = {}
for _name, (_model_bytes, _arena_bytes) in candidates.items():
    fitting[_name] = {board for board in BOARDS if micro.budget(_model_bytes, _arena_bytes, board).fits}
