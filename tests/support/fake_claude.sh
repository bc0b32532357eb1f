#!/usr/bin/env bash
# A fake `claude` for faults the real CLI cannot be made to show. Event shapes are copied (trimmed)
# from Claude Code 2.1.328 `-p --output-format stream-json --verbose` (see FINDINGS.md).
#
# The prompt is read from stdin (positional prompt arguments are ignored); a marker in it picks the
# behaviour:
#   [[fake:ok]]         init + assistant + success result, exit 0 (also the default without a marker)
#   [[fake:garbage]]    non-JSON lines on stdout, exit 0
#   [[fake:hang]]       init, then starts a detached grandchild (`setsid sleep 1000`, inherits the env,
#                       stdio on /dev/null) and sleeps forever (exec: the fake's own pid is the sleeper)
#   [[fake:crash]]      init, then half a JSON line (no newline), exit 2
#   [[fake:truncated]]  init + assistant event, exit 0, no result
#   [[fake:stderr]]     a message on stderr, nothing on stdout, exit 1
#   [[fake:slow-init]] or [[fake:slow-init SECONDS]]  sleeps (default 3 s) before init, then ok
#   [[fake:stream N]]   init, N assistant events of ~1 KB each, then a success result, exit 0
#   [[fake:killed]]     init + assistant + success result, then kills itself with SIGKILL (no exit 0)
#   [[fake:bad-usage]]  init + assistant + a success result whose "usage" is [1, 2], exit 0
# Flags: everything is accepted and ignored except --version, --session-id X, --resume X (echoed as
# session_id), --permission-mode X and --model X (echoed in init). If FAKE_CLAUDE_ARGS_FILE is set,
# the argv is appended to it (one JSON array per line) for tests to inspect.

VERSION="2.1.328"
session_id=""
mode="default"
model="claude-opus-5-5"
args=("$@")
while [ $# -gt 0 ]; do
  case "$1" in
    --version | -v)
      echo "$VERSION (Claude Code)"
      exit 0
      ;;
    --session-id | --resume | -r) session_id="$2"; shift ;;
    --session-id=* | --resume=*) session_id="${1#*=}" ;;
    --permission-mode) mode="$2"; shift ;;
    --permission-mode=*) mode="${1#*=}" ;;
    --model) model="$2"; shift ;;
    --model=*) model="${1#*=}" ;;
  esac
  shift
done

json_str() { # JSON string literal of $1 (escapes backslash, quote, control whitespace)
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\n'/\\n}
  s=${s//$'\r'/\\r}
  s=${s//$'\t'/\\t}
  printf '"%s"' "$s"
}

if [ -n "${FAKE_CLAUDE_ARGS_FILE:-}" ]; then
  {
    printf '['
    sep=""
    for a in "${args[@]}"; do
      printf '%s%s' "$sep" "$(json_str "$a")"
      sep=","
    done
    printf ']\n'
  } >>"$FAKE_CLAUDE_ARGS_FILE"
fi

prompt=$(cat)

uuid() { cat /proc/sys/kernel/random/uuid; }
[ -n "$session_id" ] || session_id=$(uuid)
SID=$(json_str "$session_id")
START_MS=$(date +%s%3N)

init() {
  printf '{"type":"system","subtype":"init","cwd":%s,"session_id":%s,"tools":["Task","Bash","Edit","Read","Write"],"mcp_servers":[],"model":%s,"permissionMode":%s,"slash_commands":[],"apiKeySource":"ANTHROPIC_API_KEY","claude_code_version":"%s","output_style":"default","agents":[],"skills":[],"plugins":[],"uuid":"%s"}\n' \
    "$(json_str "$PWD")" "$SID" "$(json_str "$model")" "$(json_str "$mode")" "$VERSION" "$(uuid)"
}

assistant() { # $1 = text
  printf '{"type":"assistant","message":{"id":"msg_fake_%s","type":"message","role":"assistant","model":%s,"content":[{"type":"text","text":%s}],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":100,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1,"service_tier":"standard"},"context_management":null},"parent_tool_use_id":null,"session_id":%s,"uuid":"%s","timestamp":"%s"}\n' \
    "$RANDOM$RANDOM" "$(json_str "$model")" "$(json_str "$1")" "$SID" "$(uuid)" "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)"
}

result() { # $1 = result text, $2 = num_turns
  local dur=$(($(date +%s%3N) - START_MS))
  printf '{"type":"result","subtype":"success","is_error":false,"duration_ms":%d,"duration_api_ms":%d,"num_turns":%d,"result":%s,"stop_reason":"end_turn","session_id":%s,"total_cost_usd":0.0014,"usage":{"input_tokens":100,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":50,"server_tool_use":{"web_search_requests":0,"web_fetch_requests":0},"service_tier":"standard"},"modelUsage":{%s:{"inputTokens":100,"outputTokens":50,"cacheReadInputTokens":0,"cacheCreationInputTokens":0,"webSearchRequests":0,"costUSD":0.0014,"contextWindow":1000000,"maxOutputTokens":128000}},"permission_denials":[],"terminal_reason":"completed","api_error_status":null,"uuid":"%s"}\n' \
    "$dur" "$dur" "$2" "$(json_str "$1")" "$SID" "$(json_str "$model")" "$(uuid)"
}

behaviour=ok
arg=""
if [[ $prompt =~ \[\[fake:([a-z-]+)([[:space:]]+([0-9.]+))?\]\] ]]; then
  behaviour=${BASH_REMATCH[1]}
  arg=${BASH_REMATCH[3]}
fi

case "$behaviour" in
  killed)
    init
    assistant "fake ok"
    result "fake ok" 1
    kill -9 $$
    ;;
  bad-usage)
    init
    assistant "fake ok"
    result "fake ok" 1 | sed 's/"usage":{.*"service_tier":"standard"},"modelUsage"/"usage":[1,2],"modelUsage"/'
    ;;
  ok)
    init
    assistant "fake ok"
    result "fake ok" 1
    ;;
  garbage)
    echo "this is not JSON"
    echo "<html><body>502 Bad Gateway</body></html>"
    echo "{not json either"
    ;;
  hang)
    init
    setsid sleep 1000 </dev/null >/dev/null 2>&1 &
    exec sleep 1000000
    ;;
  crash)
    init
    printf '{"type":"assistant","message":{"id":"msg_fake_crash","type":"mess'
    exit 2
    ;;
  truncated)
    init
    assistant "working on it"
    ;;
  stderr)
    echo "Error: fake failure on stderr" >&2
    exit 1
    ;;
  slow-init)
    sleep "${arg:-3}"
    init
    assistant "fake ok"
    result "fake ok" 1
    ;;
  stream)
    n=${arg:-10}
    init
    chunk=$(printf 'x%.0s' {1..900})
    # No subshells in the loop: builtin printf only, so large N stays fast.
    ts=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
    base=$(uuid)
    base=${base%????????????}
    mj=$(json_str "$model")
    for ((i = 1; i <= n; i++)); do
      printf '{"type":"assistant","message":{"id":"msg_fake_%d","type":"message","role":"assistant","model":%s,"content":[{"type":"text","text":"event %d %s"}],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":100,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1,"service_tier":"standard"},"context_management":null},"parent_tool_use_id":null,"session_id":%s,"uuid":"%s%012d","timestamp":"%s"}\n' \
        "$i" "$mj" "$i" "$chunk" "$SID" "$base" "$i" "$ts"
    done
    result "streamed $n events" "$n"
    ;;
  *)
    echo "fake_claude: unknown behaviour '$behaviour'" >&2
    exit 64
    ;;
esac
exit 0
