/**
 * The part run, resume and review share: find Claude Code, run the dispatch, turn the record into the
 * command's result.
 */
import { dispatch, type DispatchRequest } from "../runner/dispatch.ts";
import { findClaude } from "../runner/find_claude.ts";
import { renderRun } from "../render/run.ts";
import type { CommandContext, CommandResult } from "./context.ts";

export async function runDispatch(req: DispatchRequest, ctx: CommandContext): Promise<CommandResult> {
  const claudeBin = await findClaude(ctx.config);
  const record = await dispatch(req, {
    config: ctx.config,
    claudeBin,
    reporter: ctx.reporter,
    signal: ctx.signal,
  });
  return { exitCode: record.exit_code, json: record, text: renderRun(record) };
}
