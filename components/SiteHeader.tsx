import Link from 'next/link';
import { ThemeToggle } from './ThemeToggle';

const PAGES = [
  { href: '/', label: 'Studio' },
  { href: '/benchmarks', label: 'Benchmarks' },
  { href: '/review', label: 'Portability review' },
  { href: '/present', label: 'Present' },
] as const;

/** The header of every page: the name, what this page is, the other pages, and the theme switch. */
export function SiteHeader({ page, tagline }: { page: (typeof PAGES)[number]['href']; tagline: string }) {
  return (
    <header className="border-b border-neutral-200">
      <div className="mx-auto flex max-w-5xl flex-wrap items-baseline gap-x-4 gap-y-2 px-6 py-4">
        <h1 className="text-2xl font-semibold tracking-tight">
          <Link href="/" className="rounded hover:underline focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-300">
            Locus
          </Link>
        </h1>
        <p className="text-neutral-600">{tagline}</p>
        <nav aria-label="Pages" className="ml-auto flex flex-wrap items-center gap-3 text-sm">
          {PAGES.map((p) => (
            <Link
              key={p.href}
              href={p.href}
              aria-current={p.href === page ? 'page' : undefined}
              className="rounded font-medium text-sky-800 underline-offset-4 hover:underline focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-300 aria-[current=page]:text-neutral-900 aria-[current=page]:no-underline"
            >
              {p.label}
            </Link>
          ))}
          <ThemeToggle />
        </nav>
      </div>
    </header>
  );
}
