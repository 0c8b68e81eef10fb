import type { Metadata } from 'next';
import { SiteHeader } from '@/components/SiteHeader';
import { ReviewStudio } from '@/components/review/ReviewStudio';

export const metadata: Metadata = { title: 'Portability review · Locus' };

export default function ReviewPage() {
  return (
    <div className="flex min-h-screen flex-col">
      <SiteHeader page="/review" tagline="Portability review" />
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
