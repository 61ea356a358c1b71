-- The progress line and the end-of-run summary text.
package.path = "lua/?.lua;" .. package.path
local progress = require "fusebill.progress"
local report = require "fusebill.report"

local function sink()
  local buf = {}
  return { write = function(self, ...) for _, v in ipairs{ ... } do buf[#buf + 1] = v end return self end,
    flush = function() end, text = function() return table.concat(buf) end }
end

describe("progress", function()
  it("renders done/total, rate, ETA, retries and errors", function()
    local line = progress.render{ done = 500, total = 2000, processed = 500, elapsed = 10, retries = 3, errors = 1 }
    assert.equal("500/2000  25%  50.0/s  ETA 0:30  retries 3  errors 1", line)
  end)

  it("renders without a total (an iterator of unknown length)", function()
    local line = progress.render{ done = 42, processed = 42, elapsed = 2, retries = 0, errors = 0 }
    assert.equal("42 done  21.0/s  retries 0  errors 0", line)
  end)

  it("formats durations", function()
    assert.equal("0:05", progress.duration(5))
    assert.equal("1:15", progress.duration(75))
    assert.equal("1:02:05", progress.duration(3725))
    assert.equal("?", progress.duration(math.huge))
  end)

  it("redraws in place with \\r at most every interval", function()
    local out, t = sink(), 0
    local p = progress.new{ enabled = true, stream = out, now = function() return t end, interval = 0.1 }
    local state = { done = 1, total = 10, processed = 1, elapsed = 1 }
    assert.is_true(p:update(state))
    t = 0.05
    assert.is_false(p:update(state))   -- too soon
    t = 0.2
    assert.is_true(p:update(state))
    assert.equal(2, p.draws)
    p:finish()
    local text = out.text()
    assert.truthy(text:find("^\r1/10"))
    assert.falsy(text:find("\n"))      -- never a new line: it redraws in place
    assert.truthy(text:find("\r\27%[K$"))
  end)

  it("keeps the line narrower than the terminal", function()
    local out = sink()
    local p = progress.new{ enabled = true, stream = out, now = os.clock, width = 20 }
    p:update({ done = 123456, total = 999999, processed = 123456, elapsed = 3, retries = 12345, errors = 7 }, true)
    local line = out.text():match("^\r(.-)\27%[K$")
    assert.equal(19, #line)
  end)

  it("writes nothing when disabled (stderr is not a terminal)", function()
    local out = sink()
    local p = progress.new{ enabled = false, stream = out, now = os.clock }
    p:update({ done = 1 }, true)
    p:finish()
    assert.equal("", out.text())
  end)
end)

describe("report.summary_text", function()
  it("gives counts, retries, 429s, elapsed and rate", function()
    local text = report.summary_text{ processed = 300, succeeded = 298, failed = 2, skipped = 0, retries = 5,
      throttled = 0, elapsed = 6.02, rate = 49.8, request_rate = 99.7, errors = { { key = 7, message = "bad" } } }
    assert.matches("bulk run: 300 items in 6%.0s, 49%.8 items/s, 99%.7 requests/s", text)
    assert.matches("succeeded 298  failed 2  skipped 0  retries 5  429s 0", text)
    assert.matches("failed 7: bad", text)
  end)

  it("says when the daily quota resets", function()
    local text = report.summary_text{ processed = 1, succeeded = 1, failed = 0, skipped = 0, elapsed = 1,
      stopped = "daily_quota", reset_in = 3700 }
    assert.matches("daily request quota is used up; it resets in 61m40s %(at %d%d:%d%d UTC%)", text)
  end)

  it("lists what a dry run would change", function()
    local text = report.summary_text{ processed = 3, succeeded = 3, failed = 0, skipped = 0, elapsed = 1,
      dry_run = true, would_change = { items = 2, changes = 3, fields = { { field = "primaryEmail", count = 2 },
        { field = "reference", count = 1 } } } }
    assert.matches("^dry run:", text)
    assert.matches("would change 2 items %(3 field changes%)", text)
    assert.matches("primaryEmail%s+2", text)
  end)
end)
