import { HealthStatus } from '@/components/HealthStatus';

const stages = [
  {
    name: 'Locate',
    text: 'Causal traces over layers × tokens: restore hidden states, MLP or attention outputs and see where a fact is stored.',
  },
  {
    name: 'Edit',
    text: 'Rewrite a fact with an editing method — ROME, MEMIT, FT, KN, MEND, SERAC, T-Patcher, KE, CaliNET and newer ones — behind one interface.',
  },
  {
    name: 'Evaluate',
    text: 'Before/after probabilities for reliability (the edit prompt), generality (paraphrases), locality (unrelated facts) and portability (multi-hop questions).',
  },
];

export default function Home() {
  return (
    <main className="mx-auto max-w-3xl px-6 py-12">
      <h1 className="text-4xl font-semibold tracking-tight">Locus</h1>
      <p className="mt-3 text-lg text-neutral-700">
        A web studio for locating and editing knowledge inside language models, in TypeScript.
      </p>

      <ul className="mt-8 space-y-4">
        {stages.map((stage) => (
          <li key={stage.name} className="rounded border border-neutral-200 p-4">
            <h2 className="font-medium">{stage.name}</h2>
            <p className="mt-1 text-neutral-700">{stage.text}</p>
          </li>
        ))}
      </ul>

      <p className="mt-8 rounded bg-amber-50 p-4 text-amber-900">
        Status: this is the project skeleton. Models, causal tracing, editing and evaluation arrive in
        later milestones; nothing on this page is computed from a model yet.
      </p>

      <div className="mt-6">
        <HealthStatus />
      </div>
    </main>
  );
}
