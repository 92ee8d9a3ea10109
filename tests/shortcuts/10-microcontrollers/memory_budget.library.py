# The library adds up the budget the exercise asks for.
def memory_budget(model_bytes, arena_bytes, runtime_flash_bytes, runtime_ram_bytes):
    b = micro.budget(model_bytes, arena_bytes, "raspberry-pi-pico", runtime_flash_bytes, runtime_ram_bytes)
    return {"flash": b.flash_needed, "ram": b.ram_needed}


vibration_budget = memory_budget(int8_model.size_bytes, arena.minimal_bytes, RUNTIME["flash_bytes"],
                                 RUNTIME["ram_bytes"])
