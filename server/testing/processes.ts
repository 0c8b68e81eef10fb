/**
 * Test helpers for tests that start servers as separate processes (the backend service, Redis, a
 * second app): a free port, a process started in its own group and awaited until it says it is
 * ready, and a kill that reaches its children (tsx runs the script in a child process).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Starts `command` in a process group of its own; resolves once its output matches `ready`. */
export function startProcess(command: string, args: string[], env: Record<string, string>, ready: RegExp): Promise<ChildProcess> {
  const proc = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (ready.test(out)) resolve(proc);
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.on('exit', (code) => reject(new Error(`${command} exited with ${code}: ${out.slice(-2000)}`)));
  });
}

/** Kills a process started by startProcess and everything it started. */
export function killGroup(proc: { pid?: number } | undefined, signal: NodeJS.Signals = 'SIGTERM'): void {
  try {
    if (proc?.pid) process.kill(-proc.pid, signal);
  } catch {
    // already gone
  }
}
