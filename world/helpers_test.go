package world_test

import "time"

var timeZero = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
