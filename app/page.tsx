import { HealthStatus } from '@/components/HealthStatus';
import { SiteHeader } from '@/components/SiteHeader';
import { Studio } from '@/components/studio/Studio';
import { examplesWithProbes } from './studio-examples';

// Per request: the examples come from the world's probe file, which `npm run world:generate` rewrites.
export const dynamic = 'force-dynamic';

export default async function Home() {
  const examples = await examplesWithProbes();
  return (
    <div className="flex min-h-screen flex-col">
      <SiteHeader page="/" tagline="Locate and edit knowledge inside language models" />

      <main className="mx-auto w-full max-w-4xl flex-1 px-6 py-8">
        <p className="mb-6 text-neutral-700">
          Ask a model to complete a fact and see its next-token distribution and the probabilities of the answers you compare, computed by a real forward
          pass on the server. Then trace where the model looks the fact up, rewrite it with an editing method, compare the model before and after, and
          revert.
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
