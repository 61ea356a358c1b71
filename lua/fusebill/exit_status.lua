-- What a script's runs and calls came to, for the fusebill program's exit status (module
-- "fusebill.exit_status"; README, "Exit status"). One record per Lua state, fed by the bulk
-- runner (each run's summary) and by the engine (core.stats() counts calls that ended with
-- the key refused or the day's quota spent); the program reads status() when the script
-- ends normally.
--
--   exit_status.note_run(summary)  fusebill.each calls it once per run, before returning
--   exit_status.status()           0, 3 (an item's latest exit_status failed, or a run's items
--                                  could not all be read), 4 (the key was
--                                  refused), 5 (the daily quota stopped a run or a call)
--   exit_status.failed_items()     how many items' latest exit_status is a failure so far
--
-- Interruption (130) and a script's own error (1) are the program's to see, not this
-- record's.
local exit_status = {}

exit_status.OK, exit_status.FAILED, exit_status.AUTH, exit_status.QUOTA = 0, 3, 4, 5

local record = { failed = 0, unread = false, quota = false }

--- Notes a finished fusebill.each run: items that failed in it, and items a journal
-- records as failed that the run left alone (--skip-failed), since their latest outcome
-- is still a failure; a run whose items could not all be read (a malformed row: the items
-- after it were never tried, and a cron job must not read that as success); a run stopped
-- by the daily quota.
function exit_status.note_run(summary)
  if type(summary) ~= "table" then
    error("fusebill.exit_status.note_run: summary must be a table, got " .. type(summary), 2)
  end
  record.failed = record.failed + (tonumber(summary.failed) or 0) + (tonumber(summary.skipped_failed) or 0)
  if summary.stopped == "items_error" then record.unread = true end
  if summary.stopped == "daily_quota" then record.quota = true end
end

function exit_status.failed_items()
  return record.failed
end

--- The exit status so far. The most specific cause wins: a spent quota (rerun after the
-- reset) over a refused key (fix the key) over failed items (look at the summary).
function exit_status.status()
  local core = package.loaded["fusebill.core"]   -- absent: no call was ever made
  local stats = core and core.stats and core.stats() or {}
  if record.quota or (stats.quota_stops or 0) > 0 then return exit_status.QUOTA end
  if (stats.auth_failures or 0) > 0 then return exit_status.AUTH end
  if record.failed > 0 or record.unread then return exit_status.FAILED end
  return exit_status.OK
end

return exit_status
