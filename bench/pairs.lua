-- The peer resetwatch is measured against in `cargo xtask bench --fluent-bit`:
-- a hand-written Lua filter that does the pair counting the way an operator
-- would write it in an afternoon. It finds the two messages anywhere in the
-- `log` (or `message`) field, pairs an apply error with the reset that
-- follows it on the same tag within 5 s, counts pairs per (tag, stream) in a
-- 300 s window and adds an `alert` field once 3 pairs are in the window.
-- It keeps no bound on its tables: a benchmark peer, not a product.

local pending = {}   -- tag .. stream -> time of the last apply error
local pairs_at = {}  -- tag .. stream -> list of pair times (oldest first)

local WINDOW, GAP, THRESHOLD = 300, 5, 3

function cb(tag, ts, record)
  local line = record["log"] or record["message"]
  if type(line) ~= "string" then
    return 0, ts, record
  end
  local stream = string.match(line, "Error applying entries to '([^']*)'")
  if stream then
    pending[tag .. stream] = ts
    return 0, ts, record
  end
  stream = string.match(line, "Resetting stream cluster state for '([^']*)'")
  if not stream then
    return 0, ts, record
  end
  local key = tag .. stream
  local at = pending[key]
  pending[key] = nil
  if not at or ts - at > GAP then
    return 0, ts, record
  end
  local list = pairs_at[key] or {}
  list[#list + 1] = ts
  while #list > 0 and ts - list[1] > WINDOW do
    table.remove(list, 1)
  end
  pairs_at[key] = list
  if #list >= THRESHOLD then
    record["alert"] = { stream = stream, pairs_in_window = #list }
    return 1, ts, record
  end
  return 0, ts, record
end
