-- fusebill.each's options: checking the table a script passes, and the settings a run uses,
-- taken from opts, then opts.client (an fb from fusebill.new), then the host's options.
local checker = require "fusebill.options"

local options = {}

-- Against the "each" group of fusebill.options, the one table of every option: a wrong
-- value or an unknown name (retry_failures) raises. Level 3: called straight from each(),
-- so the message points at the script's call.
function options.check(opts)
  checker.check("each", opts, "fusebill.each", 3)
end

-- What the journal, the report and printed failures must never show: the configured API key.
local function secrets_list(host)
  local list = {}
  if host and type(host.api_key) == "string" then list[#list + 1] = host.api_key end
  local env = os.getenv("FUSEBILL_API_KEY")
  if env and env ~= "" then list[#list + 1] = env end
  return list
end

-- The run's settings, as a new table (each() keeps its run state in it): concurrency,
-- journal_path (nil: no journal), dry_run (a --plan run is one too: it sends no write and
-- must not make the real run skip items), plan (the plan's file), skip_failed, quiet,
-- max_printed, show_progress, secrets.
-- nested: this each() runs inside another one's fn.
function options.resolve(opts, core, nested)
  local host = core.host_options and core.host_options() or nil
  host = type(host) == "table" and host or {}
  local client = type(opts.client) == "table" and opts.client or nil
  -- opts.client: its concurrency hint and dry-run flag count too
  local fb_opts = client and type(client.options) == "table" and client.options or {}

  local journal_path = opts.journal
  if journal_path == nil then journal_path = host.journal end
  if journal_path == false or journal_path == "" then journal_path = nil end
  local dry_run = opts.dry_run
  if dry_run == nil then
    dry_run = (host.dry_run or (client and client.dry_run)) and true or false
  end
  local plan = type(host.plan) == "string" and host.plan or nil
  if plan then dry_run = true end
  local skip_failed = opts.skip_failed
  if skip_failed == nil and opts.retry_failed ~= nil then skip_failed = not opts.retry_failed end
  if skip_failed == nil then skip_failed = host.skip_failed == true end
  local show_progress = opts.progress
  if nested then show_progress = false end   -- the outer run owns the progress line
  if show_progress == nil then
    show_progress = not opts.quiet and core.isatty ~= nil and core.isatty("stderr") and true or false
  end

  return {
    concurrency = opts.concurrency or tonumber(fb_opts.concurrency) or tonumber(host.concurrency) or 4,
    journal_path = journal_path,
    dry_run = dry_run,
    plan = plan,
    skip_failed = skip_failed,
    quiet = opts.quiet,
    max_printed = opts.print_errors or 10,
    show_progress = show_progress,
    secrets = secrets_list(host),
  }
end

return options
