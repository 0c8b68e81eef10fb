import type { Metadata } from 'next';
import { Presentation } from '@/components/present/Presentation';
import { examplesWithProbes } from '../studio-examples';

export const metadata: Metadata = { title: 'Present · Locus' };
// Per request, as the studio: the preset facts come from the world's probe file.
export const dynamic = 'force-dynamic';

/** Presentation mode: the world's example facts with an alternative answer, one at a time. */
export default async function PresentPage() {
  const facts = (await examplesWithProbes()).filter((f) => f.alternatives?.length);
  return <Presentation facts={facts} />;
}
