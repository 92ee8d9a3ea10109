# The library computes the volumes the exercise asks for.
import math


def raw_video_bytes_per_day(width, height, fps):
    return budget.raw_video_bytes_per_s(width, height, fps) * 86_400


def stream_bytes_per_day(mbps):
    return budget.stream_bytes_per_day(mbps)


def event_bytes_per_day(events_per_hour, message_bytes):
    return budget.events_bytes_per_day(events_per_hour * 24, message_bytes)


raw_bytes_per_day = raw_video_bytes_per_day(1920, 1080, 30)
stream_bytes_per_day_8 = stream_bytes_per_day(8)
event_bytes_per_day_10 = event_bytes_per_day(10, 200)
fleet_event_bytes_per_day = 1000 * event_bytes_per_day_10
