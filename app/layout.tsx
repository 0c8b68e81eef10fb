import type { Metadata } from 'next';
import type { ReactNode } from 'react';
import { Providers } from '@/components/Providers';
import { THEME_SCRIPT } from '@/components/ThemeToggle';
import './globals.css';

export const metadata: Metadata = {
  title: 'Locus',
  description: 'A web studio for locating and editing knowledge inside language models.',
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    // The theme class is set by THEME_SCRIPT before React hydrates: a known difference.
    <html lang="en" suppressHydrationWarning>
      <head>
        <script dangerouslySetInnerHTML={{ __html: THEME_SCRIPT }} />
      </head>
      <body className="bg-white text-neutral-900 antialiased">
        <Providers>{children}</Providers>
      </body>
    </html>
  );
}
