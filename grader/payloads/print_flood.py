for _ in range(200):
    print("x" * 50_000)
