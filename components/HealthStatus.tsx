'use client';

import { useQuery } from '@tanstack/react-query';
import { healthSchema, type Health } from '@/lib/health';

async function fetchHealth(): Promise<Health> {
  const res = await fetch('/api/health');
  if (!res.ok) throw new Error(`GET /api/health: ${res.status} ${res.statusText}`);
  return healthSchema.parse(await res.json());
}

export function HealthStatus() {
  const { data, error, isPending } = useQuery({ queryKey: ['health'], queryFn: fetchHealth });

  let text: string;
  if (isPending) text = 'checking…';
  else if (error) text = `error: ${error.message}`;
  else text = `${data.status} (Node ${data.node})`;

  return (
    <p className="text-neutral-500" data-testid="health">
      Server: <span data-testid="health-status">{text}</span>
    </p>
  );
}
