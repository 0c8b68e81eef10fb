import type { Metadata } from 'next';
import { Benchmarks } from '@/components/benchmarks/Benchmarks';
import { SiteHeader } from '@/components/SiteHeader';

export const metadata: Metadata = { title: 'Benchmarks · Locus' };

export default function BenchmarksPage() {
  return (
    <div className="flex min-h-screen flex-col">
      <SiteHeader page="/benchmarks" tagline="Benchmarks" />
      <main className="mx-auto w-full max-w-5xl flex-1 px-6 py-8">
        <Benchmarks />
      </main>
    </div>
  );
}
