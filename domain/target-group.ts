/** A target group's name from its ARN (`…:targetgroup/<name>/<id>`), for messages; the ARN itself if it is none. */
export function targetGroupName(arn: string): string {
  return arn.split(':targetgroup/')[1]?.split('/')[0] ?? arn;
}
