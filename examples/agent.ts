// A typed agent loop over idb-session-store: start or resume a conversation, append turns,
// branch it, rewind it, and handle the store's errors by code. It type-checks under
// `tsc --strict` against the published package (tests/package/ checks it and runs it in
// Chromium); lib needs "esnext.disposable", as wasm-bindgen's classes declare [Symbol.dispose].
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

  /** One user message and its reply, saved together. */
  async turn(id: string, text: string): Promise<AgentSession> {
    const session = asAgentSession(await this.store.resume(id));
    const reply = `echo: ${text}`;
    const messages: ChatMessage[] = [
      ...session.messages,
      { role: "user", content: text, tokens: estimateTokens(text) },
      { role: "assistant", content: reply, tokens: estimateTokens(reply) },
    ];
    const state: AgentState = { turns: session.state.turns + 1 };
    const metadata: SessionMetadata = {
      ...session.metadata,
      turnCount: state.turns,
      totalTokens: messages.reduce((n, m) => n + m.tokens, 0),
    };
    await this.store.save({ metadata, messages, state });
    return { metadata, messages, state };
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
    const metadata: SessionMetadata = {
      ...rewound.metadata,
      turnCount: state.turns,
      totalTokens: rewound.messages.reduce((n, m) => n + m.tokens, 0),
    };
    await this.store.save({ metadata, messages: rewound.messages, state });
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
    const two = await agent.turn(meta.id, "how are you?");
    log.push(`turns=${two.metadata.turnCount} tokens=${two.metadata.totalTokens}`);
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
