hog = []
while True:
    hog.append(bytearray(50_000_000))
