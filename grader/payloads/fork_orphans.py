import os
import time

for _ in range(3):
    if os.fork() == 0:  # double fork + setsid: a daemon that outlives the kernel
        os.setsid()
        if os.fork() == 0:
            time.sleep(600)
            with open(os.path.expanduser("~/late-write.txt"), "w") as fh:
                fh.write("still here")
        os._exit(0)
