# The library converts the units the exercise asks for.
def metres_travelled(speed_kmh, wait_ms):
    return budget.distance_travelled_m(speed_kmh, wait_ms)


car_metres_cloud = metres_travelled(100, sim_p99)
car_metres_edge = metres_travelled(100, 10)
print(f"cloud p99: {car_metres_cloud:.2f} m, edge: {car_metres_edge:.2f} m")
