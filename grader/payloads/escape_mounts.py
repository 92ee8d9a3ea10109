import os
import subprocess

# Undo the sandbox's mounts to reach the course's files, then look and write around.
found = []
for command in (["umount", "-l", "/home"], ["umount", "-l", "/tmp"],
                ["unshare", "-Urm", "umount", "-l", "/home"], ["mount", "-o", "remount,rw", "/"],
                ["unshare", "-r", "id"]):
    proc = subprocess.run(command, capture_output=True, text=True)
    found.append((" ".join(command), proc.returncode))
for path in ("/proc/1/root/home", "/proc/1/root/srv", "/home", "/srv", "/root", "/work", "/dev/shm"):
    try:
        found.append((path, sorted(os.listdir(path))[:20]))
    except OSError as exc:
        found.append((path, exc.errno))
for path in ("/home/escaped.txt", "../escaped.txt", "/dev/shm/escaped.txt", "/srv/escaped.txt"):
    try:
        with open(path, "w") as fh:
            fh.write("escaped")
        found.append(("wrote", path))
    except OSError as exc:
        found.append(("not written", path, exc.errno))
print("escape attempts:", found)
