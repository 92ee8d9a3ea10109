import os
import time

children = 0
try:
    while True:
        if os.fork() == 0:
            time.sleep(120)
            os._exit(0)
        children += 1
except OSError as exc:
    print("fork refused after", children, "children:", exc)
