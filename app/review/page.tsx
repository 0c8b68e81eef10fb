import type { Metadata } from 'next';
import Link from 'next/link';
import { ReviewStudio } from '@/components/review/ReviewStudio';

export const metadata: Metadata = { title: 'Portability review · Locus' };

export default function ReviewPage() {
  return (
    <div className="flex min-h-screen flex-col">
      <header className="border-b border-neutral-200">
        <div className="mx-auto flex max-w-4xl flex-wrap items-baseline gap-x-4 gap-y-1 px-6 py-4">
          <h1 className="text-2xl font-semibold tracking-tight">
            <Link href="/" className="hover:underline">
              Locus
            </Link>
          </h1>
          <p className="text-neutral-600">Portability review</p>
        </div>
      </header>
      <main className="mx-auto w-full max-w-4xl flex-1 px-6 py-8">
        <p className="mb-6 text-neutral-700">
          Validate the GPT-4-generated portability questions of an editing dataset: accept, reject, edit or flag each one, check whether a model knows
          the original fact, and export the accepted questions in the file&apos;s own format.
        </p>
        <ReviewStudio />
      </main>
    </div>
  );
}
