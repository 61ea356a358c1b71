-- fusebill.options, the one table of options and the one checker: the same rule and the
-- same words whether the option came from Lua, the engine API or the command line.
local options = require "fusebill.options"

describe("fusebill.options", function()
  it("names a problem the way the caller spelled the option", function()
    assert.equal("timeout must be a number of seconds > 0, at most 86400 (got 0)", options.problem("client", "timeout", 0))
    assert.equal("--timeout must be a number of seconds > 0, at most 86400 (got 0)",
      options.problem("client", "timeout", 0, nil, "--timeout"))
    assert.is_nil(options.problem("client", "timeout", 0.5))
  end)

  it("answers a command-line flag in the user's own words", function()
    assert.same({ nil, '--timeout must be a number of seconds > 0, at most 86400 (got "0")' }, { options.from_flag("--timeout", "0") })
    assert.same({ nil, '--rate-limit must be "auto", "none" or a number of requests per minute > 0 (got "off")' },
      { options.from_flag("--rate-limit", "off") })
    assert.same({ "host", "rate_limit", "none" }, { options.from_flag("--rate-limit", "none") })
    assert.same({ "host", "rate_limit", 600 }, { options.from_flag("--rate-limit", "600") })
    assert.same({ "host", "retry", { max_attempts = 3 } }, { options.from_flag("--retries", "3") })
    local _, msg = options.from_flag("--base-url", "secure.fusebill.com/v1")
    assert.matches('^%-%-base%-url must be a URL that starts with https://.*%(got "secure.fusebill.com/v1"%)$', msg)
  end)

  it("never shows the key, not even a malformed one", function()
    local msg = options.problem("client", "api_key", "secret key\n")
    assert.matches("^api_key must be 1 to 1024 characters", msg)
    assert.is_nil(msg:find("secret", 1, true))
    local _, m2 = options.from_flag("--api-key", "secret key")
    assert.is_nil(m2:find("secret", 1, true))
  end)

  it("suggests the nearest valid name, case and underscores aside", function()
    assert.equal("dry_run", options.suggest("client", "dryRun"))
    assert.equal("retry_failed", options.suggest("each", "retry_failures"))
    assert.equal("page_size", options.suggest("list.customers", "pagesize"))
    assert.is_nil(options.suggest("client", "colour"))
  end)

  it("raises at the level asked for, naming nested options by their path", function()
    local ok, msg = pcall(options.check, "client", { retry = { max_attemps = 2 } }, "fusebill.new", 1)
    assert.is_false(ok)
    assert.matches("fusebill.new: unknown option retry.max_attemps (did you mean retry.max_attempts?)", msg, 1, true)
    msg = select(2, pcall(options.check, "host", { timeout = -1, retry = { max_attempts = 0 } }, "fusebill", 1, true))
    assert.matches("fusebill: %-%-retries must be a whole number from 1 to 1000 %(got 0%)", msg)
    assert.matches("options_spec.lua:%d+: x: options must be a table", select(2, pcall(function()
      options.check("client", "no", "x", 1)
    end)))
  end)
end)
