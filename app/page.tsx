import { HealthStatus } from '@/components/HealthStatus';
import { Studio } from '@/components/studio/Studio';
import { exampleFacts } from '@/server/backend/facts';

// Per request: the examples come from the world's probe file, which `npm run world:generate` rewrites.
export const dynamic = 'force-dynamic';

export default async function Home() {
  const examples = await exampleFacts();
  return (
    <div className="flex min-h-screen flex-col">
      <header className="border-b border-neutral-200">
        <div className="mx-auto flex max-w-4xl flex-wrap items-baseline gap-x-4 gap-y-1 px-6 py-4">
          <h1 className="text-2xl font-semibold tracking-tight">Locus</h1>
          <p className="text-neutral-600">Locate and edit knowledge inside language models</p>
        </div>
      </header>

      <main className="mx-auto w-full max-w-4xl flex-1 px-6 py-8">
        <p className="mb-6 text-neutral-700">
          Ask a model to complete a fact and see its next-token distribution and the probabilities of the answers you
          compare, computed by a real forward pass on the server. Causal traces and edits come next.
        </p>
        <Studio examples={examples} />
      </main>

      <footer className="border-t border-neutral-200">
        <div className="mx-auto max-w-4xl px-6 py-3 text-xs">
          <HealthStatus />
        </div>
      </footer>
    </div>
  );
}
