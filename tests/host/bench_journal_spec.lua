-- The journal benchmark (tests/bench/bench_journal, run by make bench) at a size of 50 items:
-- every phase must do its work, or the table it prints times nothing. Its figures are not
-- checked here: speed is the benchmark's to report, never a test's.
local hostrun = require "hostrun"
if not hostrun.available() then
  describe("the journal benchmark", function() pending("needs build/fusebill and build/fusebill-sandbox") end)
  return
end

describe("the journal benchmark", function()
  it("runs every phase to the end at 50 items: the rerun finds all 50 done", function()
    local text, code = hostrun.run("BENCH_JOURNAL_SIZES=50 tests/bench/bench_journal")
    assert.equal(0, code, text)
    assert.matches("\n50 | [^\n]*%(50 done%)", text)
  end)
end)
