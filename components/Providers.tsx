'use client';

import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { useState, type ReactNode } from 'react';
import { useThemeClass } from './ThemeToggle';

export function Providers({ children }: { children: ReactNode }) {
  // One client per browser session; useState keeps it stable across re-renders
  // and avoids sharing a module-level cache between server requests.
  const [queryClient] = useState(() => new QueryClient());
  useThemeClass();
  return <QueryClientProvider client={queryClient}>{children}</QueryClientProvider>;
}
