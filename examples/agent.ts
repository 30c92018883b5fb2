// A typed agent loop over idb-session-store: start or resume a conversation, add turns (each one
// `append` with the agent's state, its reply streamed in with `replaceLast`), branch it, rewind
// it, and handle the store's errors by code. It type-checks under `tsc --strict` against the
// published package (tests/package/ checks it and runs it in Chromium); lib needs
// "esnext.disposable", as wasm-bindgen's classes declare [Symbol.dispose].
import init, { SessionStore, type Session, type SessionError, type SessionMetadata } from "idb-session-store";

/** What this agent keeps per message; the store takes any JSON value. */
export interface ChatMessage {
  role: "user" | "assistant";
  content: string;
  tokens: number;
}

/** What this agent keeps between turns. */
export interface AgentState {
  turns: number;
}

export type AgentSession = Omit<Session, "messages" | "state"> & {
  messages: ChatMessage[];
  state: AgentState;
};

const estimateTokens = (text: string): number => Math.ceil(text.length / 4);

/** How many characters of a reply each streamed write adds. */
const STREAM_CHARS = 8;

/** Narrows an unknown rejection to the store's error type. */
export function isSessionError(e: unknown): e is SessionError {
  return e instanceof Error && e.name === "SessionError" && "code" in e;
}

/** The store gives messages and state back as `unknown`; this agent checks its own shape. */
function asAgentSession(session: Session): AgentSession {
  const messages = session.messages.filter(
    (m): m is ChatMessage => typeof m === "object" && m !== null && "role" in m && "content" in m,
  );
  const state = session.state as Partial<AgentState> | null;
  return { ...session, messages, state: { turns: state?.turns ?? 0 } };
}

export class EchoAgent {
  private constructor(private readonly store: SessionStore) {}

  static async open(dbName: string): Promise<EchoAgent> {
    await init(); // the --target web build loads its .wasm first
    return new EchoAgent(await SessionStore.open(dbName));
  }

  async start(name: string, tags: string[] = []): Promise<SessionMetadata> {
    return this.store.save({
      metadata: {
        id: crypto.randomUUID(), name, tags, agentName: "echo-agent",
        createdAt: 0, updatedAt: 0, turnCount: 0, totalTokens: 0,
      },
      messages: [],
      state: { turns: 0 } satisfies AgentState,
    });
  }

  /**
   * One user message and its reply. The turn is one `append` carrying the agent's new state (the
   * history is neither sent back nor rewritten); the reply then streams into its last message
   * with `replaceLast`, a few characters per write as a model's tokens would arrive, each write
   * adding the tokens it grew by. `onReply` sees the reply as it grows.
   */
  async turn(id: string, text: string, onReply?: (soFar: string) => void): Promise<AgentSession> {
    const session = asAgentSession(await this.store.resume(id)); // what a model would be given
    const state: AgentState = { turns: session.state.turns + 1 };
    const user: ChatMessage = { role: "user", content: text, tokens: estimateTokens(text) };
    let reply: ChatMessage = { role: "assistant", content: "", tokens: 0 };
    let metadata = await this.store.append(id, [user, reply], { tokens: user.tokens, state });
    const chars = [...`echo: ${text}`]; // code points: a piece never ends inside a surrogate pair
    for (let end = STREAM_CHARS; end < chars.length + STREAM_CHARS; end += STREAM_CHARS) {
      const content = chars.slice(0, end).join("");
      const grown: ChatMessage = { role: "assistant", content, tokens: estimateTokens(content) };
      metadata = await this.store.replaceLast(id, grown, { tokens: grown.tokens - reply.tokens });
      reply = grown;
      onReply?.(content);
    }
    return { metadata, messages: [...session.messages, user, reply], state };
  }

  /** The most recently updated session of this agent, if any. */
  async latest(): Promise<SessionMetadata | undefined> {
    return (await this.store.list()).find((m) => m.agentName === "echo-agent");
  }

  branch(id: string, name?: string): Promise<SessionMetadata> {
    return this.store.fork(id, name ?? null);
  }

  /**
   * Back to just after turn `turn`. `rewind` keeps messages (2 per turn here) and sets turnCount
   * to the number kept, so this agent then stores its own counts and state.
   */
  async undoTo(id: string, turn: number): Promise<AgentSession> {
    const rewound = asAgentSession(await this.store.rewind(id, turn * 2));
    const state: AgentState = { turns: rewound.messages.length / 2 };
    const corrected: SessionMetadata = {
      ...rewound.metadata,
      turnCount: state.turns,
      totalTokens: rewound.messages.reduce((n, m) => n + m.tokens, 0),
    };
    const metadata = await this.store.save({ metadata: corrected, messages: rewound.messages, state });
    return { metadata, messages: rewound.messages, state };
  }

  /** Resumes `id`, or undefined when there is no such session; other errors propagate. */
  async find(id: string): Promise<AgentSession | undefined> {
    try {
      return asAgentSession(await this.store.resume(id));
    } catch (e) {
      if (isSessionError(e) && e.code === "NOT_FOUND") return undefined;
      throw e;
    }
  }

  remove(id: string): Promise<void> {
    return this.store.delete(id);
  }

  close(): void {
    this.store.close();
  }
}

/** A short run of everything above; resolves with what it saw. */
export async function demo(dbName: string): Promise<string[]> {
  const agent = await EchoAgent.open(dbName);
  const log: string[] = [];
  try {
    const meta = await agent.start("demo", ["example"]);
    await agent.turn(meta.id, "hello");
    const pieces: string[] = [];
    const two = await agent.turn(meta.id, "how are you?", (soFar) => pieces.push(soFar));
    log.push(`turns=${two.metadata.turnCount} tokens=${two.metadata.totalTokens}`);
    log.push(`streamed: ${pieces.map((p) => JSON.stringify(p)).join(" -> ")}`);
    const stored = await agent.find(meta.id);
    log.push(`stored: ${stored?.messages.length} messages, last=${JSON.stringify(stored?.messages.at(-1))}, ` +
      `turns=${stored?.state.turns} tokens=${stored?.metadata.totalTokens}`);
    const branch = await agent.branch(meta.id);
    log.push(`branch=${branch.name ?? "(unnamed)"}`);
    const undone = await agent.undoTo(meta.id, 1);
    log.push(`after undo: ${undone.messages.map((m) => m.content).join(" | ")} (turns=${undone.metadata.turnCount})`);
    log.push(`latest=${(await agent.latest())?.name ?? "none"}`);
    await agent.remove(branch.id);
    log.push(`branch found after delete: ${(await agent.find(branch.id)) !== undefined}`);
  } finally {
    agent.close();
  }
  return log;
}
