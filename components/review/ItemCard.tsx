'use client';

import type { KnowledgeCheck, ReviewItem, ReviewRecord } from '@/lib/api/review';

function percent(p: number): string {
  return `${(p * 100).toFixed(p >= 0.1 ? 0 : 1)}%`;
}

/** One portability question with the edit it sits on, and the automatic check's result. */
export function ItemCard({ item, check, reviews }: { item: ReviewItem; check: KnowledgeCheck | null; reviews: readonly ReviewRecord[] }) {
  return (
    <article aria-labelledby="review-item-title" data-testid="review-item" data-index={item.index} className="space-y-3">
      <h3 id="review-item-title" className="text-lg font-semibold">
        Item {item.index + 1}: {item.subject}
      </h3>
      <dl className="grid grid-cols-[max-content_1fr] gap-x-4 gap-y-2 text-sm">
        <dt className="font-medium text-neutral-600">Original fact</dt>
        <dd data-testid="item-fact">
          {item.prompt} <strong>{item.trueAnswer}</strong>
        </dd>
        <dt className="font-medium text-neutral-600">Edited to</dt>
        <dd data-testid="item-new-target">
          <strong>{item.newTarget}</strong>
        </dd>
        {item.recalledRelation !== null && (
          <>
            <dt className="font-medium text-neutral-600">Recalled relation</dt>
            <dd data-testid="item-relation">{item.recalledRelation}</dd>
          </>
        )}
        <dt className="font-medium text-neutral-600">New question</dt>
        <dd data-testid="item-question" className="text-base">
          {item.question}
        </dd>
        <dt className="font-medium text-neutral-600">New answer</dt>
        <dd data-testid="item-answer" className="text-base font-semibold">
          {item.answer}
        </dd>
        <dt className="font-medium text-neutral-600">Model check</dt>
        <dd data-testid="item-check" aria-live="polite">
          {check ? <CheckResult check={check} /> : <span className="text-neutral-500">not checked</span>}
        </dd>
      </dl>
      {reviews.length > 0 && (
        <p className="text-xs text-neutral-500">
          Your earlier decision: {reviews[reviews.length - 1]!.decision}
        </p>
      )}
    </article>
  );
}

function CheckResult({ check }: { check: KnowledgeCheck }) {
  const top = check.top
    .slice(0, 5)
    .map((t) => `${JSON.stringify(t.token)} ${percent(t.prob)}`)
    .join(', ');
  return (
    <span data-knows={check.knows}>
      {check.knows ? (
        <span className="rounded bg-emerald-100 px-2 py-0.5 font-medium text-emerald-800">knows</span>
      ) : (
        <span className="rounded bg-amber-100 px-2 py-0.5 font-medium text-amber-900">does not know</span>
      )}{' '}
      {check.model}: {JSON.stringify(check.answerToken)} {check.rank !== null ? `ranks ${check.rank} of the top ${check.top.length}` : `is not in the top ${check.top.length}`}
      <span className="block text-xs text-neutral-500">top next tokens: {top}</span>
    </span>
  );
}
