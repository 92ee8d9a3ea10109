# The library computes the battery life the exercise asks for.
def battery_hours(battery_wh, energy_per_wake_mj, wakes_per_hour, sleep_mw):
    return devices.battery_life_hours(battery_wh, energy_per_wake_mj, wakes_per_hour, sleep_mw=sleep_mw)


energy_per_inference_mj = mcu.active_w * devices.estimate_latency(mcu, tiny).ms
battery_hours_sensor = battery_hours(3.7, energy_per_inference_mj, 60, 0.01)
lte_upload_mj = budget.radio_energy_mj("4g-lte", budget.wire_bytes(200))
battery_hours_with_lte = battery_hours(3.7, energy_per_inference_mj + lte_upload_mj / 60, 60, 0.01)
